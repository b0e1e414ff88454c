/**
 * Inventory plugin configurations (a YAML file whose root has `plugin: aws_ec2`, `constructed`,
 * `generator`, …), as Ansible's `auto` plugin reads them. lanes does not reimplement cloud APIs: it
 * runs the real `ansible-inventory --list --export -i FILE` and reads its JSON the way it reads an
 * inventory script's. The Ansible settings in effect there (ansible.cfg, ANSIBLE_*) are the user's
 * own, as they would be for `ansible`; only "fail when the source cannot be parsed" is forced on, so
 * a broken config is an error rather than an empty inventory.
 */
import { LanesError, type SourceLocation } from '../errors.js';
import type { InventoryData } from './data.js';
import { JsonLoadsError, pyJsonLoads } from '../values/json-loads.js';
import { MAX_INVENTORY_OUTPUT, runCapped } from './run-capped.js';
import { addGroups } from './script-source.js';

export interface PluginRun {
  cwd: string;
  timeoutSeconds: number;
  /** The program to run; tests point it elsewhere. */
  command?: string;
  /**
   * The -i sources given before this config. They are passed on ahead of it, so that a plugin that
   * works on the inventory built so far (constructed, generator) sees it, as it would in Ansible. What
   * they add again is already here: membership is idempotent and their variables are the same values.
   */
  before?: readonly string[];
}

const INSTALL_HINT = 'install ansible-core (apt install ansible-core, or pipx install ansible-core) so that ansible-inventory is on PATH, or export the inventory once with ansible-inventory -i FILE --list -y > inventory.yml';

export async function readPluginInventory(data: InventoryData, file: string, plugin: string, run: PluginRun, at?: SourceLocation): Promise<void> {
  const loc = at ?? { file };
  const command = run.command ?? 'ansible-inventory';
  const env = {
    ...process.env,
    ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True',
    ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED: 'True',
    ANSIBLE_NOCOLOR: 'True',
  };
  const sources = [...(run.before ?? []), file].flatMap((s) => ['-i', s]);
  const r = await runCapped(command, ['--list', '--export', ...sources], { cwd: run.cwd, timeoutSeconds: run.timeoutSeconds, env });
  if (r.kind === 'spawn-failed') {
    const missing = r.code === 'ENOENT';
    throw new LanesError(
      missing ? `inventory plugin "${plugin}" needs Ansible, and ${command} is not installed` : `cannot run ${command} for inventory plugin "${plugin}": ${r.message}`,
      { location: loc, hint: INSTALL_HINT },
    );
  }
  if (r.kind === 'timeout') {
    throw new LanesError(`${command} did not finish reading inventory plugin "${plugin}" within ${run.timeoutSeconds}s and was stopped`, {
      kind: 'timeout',
      location: loc,
      hint: 'raise the inventory script timeout, or enable the plugin\'s cache',
    });
  }
  if (r.kind === 'too-much-output') {
    throw new LanesError(`${command} printed more than ${MAX_INVENTORY_OUTPUT / 1024 / 1024} MiB for inventory plugin "${plugin}"`, { location: loc });
  }
  if (r.code !== 0) {
    throw new LanesError(`inventory plugin "${plugin}" failed in ${command}: ${pluginFailure(r.stderr)}`, {
      location: loc,
      hint: `run ansible-inventory -i ${file} --list -vvv to see the whole error`,
    });
  }
  let parsed: unknown;
  try {
    parsed = pyJsonLoads(r.stdout.toString('utf8'));
  } catch (e) {
    if (!(e instanceof JsonLoadsError)) throw e;
    throw new LanesError(`output of ${command} for inventory plugin "${plugin}" is not JSON: ${e.message}`, { location: loc });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new LanesError(`output of ${command} for inventory plugin "${plugin}" is not a JSON object`, { location: loc });
  }
  const groups = parsed as Record<string, unknown>;
  const hosts = addGroups(data, groups, file);
  const meta = groups._meta as { hostvars?: Record<string, unknown> } | undefined;
  for (const host of hosts) {
    const vars = meta?.hostvars?.[host];
    if (typeof vars !== 'object' || vars === null) continue;
    for (const [k, v] of Object.entries(vars)) data.setHostVar(host, k, v, loc);
  }
}

/**
 * The reason in ansible-inventory's stderr: the auto plugin's own failure when it gave one (its
 * warnings are wrapped over several lines), else the first line that is not a bare warning header.
 */
export function pluginFailure(stderr: string): string {
  const flat = stderr.replace(/\s+/g, ' ').trim();
  const auto = /Failed to parse .*? with auto plugin: (.*?)(?: \[WARNING\]:| \[ERROR\]:| ERROR!|$)/.exec(flat);
  if (auto?.[1]) return auto[1].trim();
  const err = /ERROR! (.*?)(?: \[WARNING\]:|$)/.exec(flat);
  if (err?.[1]) return err[1].trim();
  return flat === '' ? 'no message' : flat.slice(0, 300);
}
