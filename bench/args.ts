/** The bench's options: a tiny parser (the bench is not a lanes command, so it stays out of cli/). */
export interface BenchArgs {
  /** Lab host counts to measure (subsets of one lab of the largest). */
  hosts: number[];
  runs: number;
  peer?: 'ansible';
  /** Simulated fleet size; when set, the simulator runs instead of the lab bench. */
  simulate?: number;
  simLatencyMs: number;
  simFailRate: number;
  forks: number;
  /** Lab name (one lab, booted or reused with the largest host count). */
  lab: string;
  /** A recorded state (JSON) to serve instead of recording lab1 (then no lab is needed). */
  recording?: string;
  /** Write lab1's recording here (a fixture for tests) and stop. */
  record?: string;
  /** `node --cpu-prof` output directory for the largest simulated plan. */
  cpuProf?: string;
}

export const USAGE = `npm run bench -- [--hosts 1,3,10] [--runs 7] [--peer ansible] [--lab bench]
npm run bench -- --simulate 1000 [--sim-latency-ms 0] [--sim-fail-rate 0] [--forks 100] [--recording FILE] [--cpu-prof DIR]
npm run bench -- --record FILE      (record lab1's state read for playbooks/site.yml, e.g. a test fixture)`;

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} wants a whole number >= 1, got "${v}"`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = { hosts: [1, 3, 10], runs: 7, simLatencyMs: 0, simFailRate: 0, forks: 100, lab: 'bench' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${name} wants a value`);
      return v;
    };
    switch (name) {
      case '--hosts':
        a.hosts = [...new Set(value().split(',').map((h) => positiveInt('--hosts', h.trim())))].sort((x, y) => x - y);
        break;
      case '--runs':
        a.runs = positiveInt('--runs', value());
        break;
      case '--peer': {
        const v = value();
        if (v !== 'ansible') throw new Error(`--peer knows only "ansible", got "${v}"`);
        a.peer = v;
        break;
      }
      case '--simulate':
        a.simulate = positiveInt('--simulate', value());
        break;
      case '--sim-latency-ms': {
        const n = Number(value());
        if (!(n >= 0)) throw new Error('--sim-latency-ms wants a number >= 0');
        a.simLatencyMs = n;
        break;
      }
      case '--sim-fail-rate': {
        const n = Number(value());
        if (!(n >= 0 && n <= 1)) throw new Error('--sim-fail-rate wants a fraction from 0 to 1');
        a.simFailRate = n;
        break;
      }
      case '--forks':
        a.forks = positiveInt('--forks', value());
        break;
      case '--lab':
        a.lab = value();
        break;
      case '--recording':
        a.recording = value();
        break;
      case '--record':
        a.record = value();
        break;
      case '--cpu-prof':
        a.cpuProf = value();
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return a;
}
