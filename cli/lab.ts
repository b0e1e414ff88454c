/** `lanes lab up|status|down|inventory`: the local lab of real Debian hosts under systemd-nspawn. */
import type { Argv, CommandModule } from 'yargs';
import type { LabHost } from '../agent/lab/index.js';
import { DEFAULT_HOSTS } from '../agent/lab/paths.js';

/** The lab itself (nspawn, the image, the hosts) is imported when a lab command runs, not when lanes starts. */
const lab = () => import('../agent/lab/index.js');

interface NameArgs {
  name: string;
}

const progress = (message: string): void => {
  process.stderr.write(`lab: ${message}\n`);
};

function withName<T>(y: Argv<T>): Argv<T & NameArgs> {
  return y.option('name', { type: 'string', default: 'lanes', describe: 'lab name (other labs get other 127.0.X.N addresses)' }) as never;
}

export function statusTable(hosts: readonly LabHost[]): string {
  const rows = [['HOST', 'ADDRESS', 'STATE', 'SYSTEMD'], ...hosts.map((h) => [h.name, h.address, h.state, h.systemState ?? '-'])];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

const up: CommandModule<object, NameArgs & { hosts: number }> = {
  command: 'up',
  describe: 'Build the base image if needed and boot N hosts (idempotent: adds, removes or just checks hosts)',
  builder: (y) =>
    withName(y).option('hosts', { type: 'number', default: DEFAULT_HOSTS, describe: 'number of hosts (lab1 … labN)' }) as never,
  handler: async (args) => {
    const hosts = await (await lab()).labUp({ name: args.name, hosts: args.hosts, onProgress: progress });
    process.stdout.write(statusTable(hosts));
  },
};

const status: CommandModule<object, NameArgs & { json: boolean }> = {
  command: 'status',
  describe: 'Show the lab hosts: address, whether they run, what systemd inside says',
  builder: (y) => withName(y).option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as never,
  handler: async (args) => {
    const hosts = await (await lab()).labStatus({ name: args.name });
    if (args.json) {
      process.stdout.write(`${JSON.stringify(hosts, null, 2)}\n`);
    } else if (hosts.length === 0) {
      progress(`lab "${args.name}" has no hosts (lanes lab up)`);
    } else {
      process.stdout.write(statusTable(hosts));
    }
  },
};

const down: CommandModule<object, NameArgs> = {
  command: 'down',
  describe: 'Stop the hosts and delete them (the lab key and the image cache stay)',
  builder: (y) => withName(y) as never,
  handler: async (args) => {
    await (await lab()).labDown({ name: args.name, onProgress: progress });
  },
};

const inventory: CommandModule<object, NameArgs & { path: boolean }> = {
  command: 'inventory',
  describe: 'Print the lab as an Ansible YAML inventory (usable by lanes and Ansible)',
  builder: (y) =>
    withName(y).option('path', { type: 'boolean', default: false, describe: 'print the path of the inventory file instead' }) as never,
  handler: async (args) => {
    const { labInventoryYaml, labPaths } = await lab();
    const yaml = await labInventoryYaml({ name: args.name });
    process.stdout.write(args.path ? `${labPaths({ name: args.name }).inventoryFile}\n` : yaml);
  },
};

export const labCommand: CommandModule<object, object> = {
  command: 'lab',
  describe: 'Local lab: real Debian bookworm hosts with systemd, under systemd-nspawn (needs root)',
  builder: (y) =>
    y
      .command(up)
      .command(status)
      .command(down)
      .command(inventory)
      .demandCommand(1, 'name a lab command: up, status, down or inventory') as never,
  handler: () => undefined,
};
