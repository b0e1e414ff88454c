/** Whether systemd is PID 1 (so units, slices and resource control can be managed) and its version. */
import { keyLines, type Fact } from './fact.js';

export interface SystemdFact {
  pid1: boolean;
  version?: number;
  /** `systemctl is-system-running`: running, degraded, starting… */
  state?: string;
}

export const systemdFact: Fact<SystemdFact> = {
  name: 'systemd',
  command: [
    'printf "pid1 %s\\n" "$(cat /proc/1/comm 2>/dev/null)"',
    'if command -v systemctl >/dev/null 2>&1; then',
    '  printf "version %s\\n" "$(systemctl --version 2>/dev/null | head -n 1)"',
    '  printf "state %s\\n" "$(systemctl is-system-running 2>/dev/null)"',
    'fi',
  ].join('\n'),
  parse(output) {
    const kv = new Map(keyLines(output));
    const pid1 = kv.get('pid1') === 'systemd';
    const v = /systemd (\d+)/.exec(kv.get('version') ?? '');
    return { pid1, version: v ? Number(v[1]) : undefined, state: pid1 ? kv.get('state') || undefined : undefined };
  },
};
