/**
 * The terminal view: a listr2 task list with one line per host showing its current step, then the
 * same summary as the plain renderer.
 *
 * listr2 normally runs the work itself; here the engine does, so each host's task is only a promise
 * that its `host-end` event settles. A failed host fails its task without stopping the others
 * (`exitOnError: false`), and nothing is thrown at the end: the command reads `run-end` for its
 * exit code.
 *
 * Above FLEET_THRESHOLD hosts (agent/report/fleet.ts) 1000 rows would scroll past any terminal: the
 * list is one row instead, counting hosts per state (waiting, connecting, reading, applying, done,
 * failed), with the hosts running longest and the latest failures under it; the results and the
 * summary that follow it are grouped as the plain renderer groups them.
 */

import { escapeControls } from './escape.js';
import {
  DefaultRenderer,
  Listr,
  ListrLogger,
  ProcessOutput,
  type ListrDefaultRendererOptions,
  type ListrTaskObject,
} from 'listr2';
import { errorLine } from '../errors.js';
import { colorEnabled, painter, type Paint } from './color.js';
import type { EventBus, EventOf, LanesEvent } from './events.js';
import { failureText, formatMs, oneLine, summaryLines } from './format.js';
import { fleetResultLines, fleetSummaryLines, isFleet } from './fleet.js';
import { secrets, type SecretMasker } from './mask.js';
import type { Env, OutputStream, Renderer } from './renderer.js';
import { LineSink } from './sink.js';

/**
 * listr2 picks its renderer by looking at process.stdout, not at the stream it is given. chooseRenderer
 * has already checked that *our* stream is a terminal, so let that decision stand: this is listr's
 * default renderer, declared usable anywhere (which also lets tests drive it with a fake terminal).
 */
class TerminalListrRenderer extends DefaultRenderer {
  static override nonTTY = true;
}

export interface LiveRendererOptions {
  /** The terminal to draw on. Default process.stdout. */
  stream?: OutputStream;
  /**
   * Held by listr while the list is drawn (stray writes are buffered and printed after it closes,
   * instead of tearing the display). Default process.stderr.
   */
  errStream?: OutputStream;
  masker?: SecretMasker;
  env?: Env;
  /** Redraw only when an event changes something, no spinner timer. Deterministic; for tests. */
  lazy?: boolean;
}

/** How a host's task ends: its final title, and whether it fails. */
interface Outcome {
  ok: boolean;
  title: string;
}

interface HostSlot {
  task: ListrTaskObject<unknown>;
  outcome: Deferred<Outcome>;
  settled: boolean;
}

/** One `run-start`…`run-end`: its task list, its hosts, and what to print under it. */
interface LiveRun {
  command: string;
  listr: Listr<unknown, typeof TerminalListrRenderer>;
  hosts: Map<string, HostSlot>;
  /** Settled by `run-end`, or by `done()` when run-end never comes. */
  ended: Deferred<EventOf<'run-end'> | undefined>;
  /** Warnings and host-less messages: printed under the list once it closes, not lost with it. */
  notes: string[];
  /** Its notes and summary are printed: later messages (a notification's warning) print at once. */
  closed?: boolean;
  /** A large fleet: one summary row instead of a row per host (then `hosts` is empty). */
  fleet?: FleetView;
}

/** Where a host is, as the fleet row counts it. */
type Phase = 'waiting' | 'connecting' | 'reading' | 'applying' | 'done' | 'failed';
const PHASES: readonly Phase[] = ['waiting', 'connecting', 'reading', 'applying', 'done', 'failed'];
/** Steps that only read the host; any other step after connect changes it. */
const READ_STEPS = new Set(['read state', 'read releases', 'read history', 'facts', 'plan', 'check', 'validate', 'preflight', 'exec']);
/** Hosts named under the fleet row: the longest-running ones and the latest failures. */
const NAMED = 3;

/** The one row a large fleet is drawn as, and what it counts. */
interface FleetView {
  slot: HostSlot;
  phase: Map<string, Phase>;
  /** Hosts not done yet: their current step and when it started (event time). */
  running: Map<string, { step: string; since: number }>;
  counts: Record<Phase, number>;
  ended: EventOf<'host-end'>[];
  lastFailed: string[];
  /** The latest event's time: "running for" is measured against it, so the row never depends on a clock. */
  now: number;
  /** A redraw is scheduled: events in a burst (1000 hosts connecting) redraw the row once. */
  pending?: NodeJS.Timeout;
}

/** A large fleet's row is redrawn at most this often (listr redraws the whole list on each change). */
const FLEET_REDRAW_MS = 100;

export class LiveRenderer implements Renderer {
  private readonly stream: OutputStream;
  private readonly errStream: OutputStream;
  private readonly sink: LineSink;
  private readonly paint: Paint;
  private readonly masker: SecretMasker;
  private readonly lazy: boolean;
  private current: LiveRun | undefined;
  private readonly runs: LiveRun[] = [];
  /** Runs are drawn one after another; a second run-start waits for the first list to close. */
  private chain: Promise<void> = Promise.resolve();
  private detach: (() => void) | undefined;

  constructor(options: LiveRendererOptions = {}) {
    this.stream = options.stream ?? process.stdout;
    this.errStream = options.errStream ?? process.stderr;
    this.sink = new LineSink(this.stream);
    this.paint = painter(colorEnabled(this.stream, options.env ?? process.env));
    this.masker = options.masker ?? secrets;
    this.lazy = options.lazy ?? false;
  }

  attach(bus: EventBus): void {
    this.detach = bus.on((e) => this.handle(this.masker.maskEvent(e)));
  }

  async done(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    for (const run of this.runs) {
      for (const [host, slot] of run.hosts) this.settle(slot, { ok: false, title: `${host}: interrupted` });
      clearTimeout(run.fleet?.pending);
      if (run.fleet) this.settle(run.fleet.slot, { ok: false, title: `${run.command}: interrupted` });
      run.ended.resolve(undefined);
    }
    await this.chain;
    await this.sink.flush();
  }

  private handle(e: LanesEvent): void {
    const fleet = this.current?.fleet;
    if (fleet && this.current && e.type !== 'run-start') {
      this.fleetEvent(this.current, fleet, e);
      if (e.type === 'run-end') {
        clearTimeout(fleet.pending);
        const failed = fleet.counts.failed;
        this.settle(fleet.slot, { ok: failed === 0, title: `${this.current.command} on ${fleet.phase.size} hosts: done ${fleet.counts.done}, failed ${failed}` });
        this.current.ended.resolve(e);
        return;
      }
      if (e.type !== 'message') return;
    }
    switch (e.type) {
      case 'run-start': {
        const run = this.createRun(e);
        this.current = run;
        this.runs.push(run);
        this.chain = this.chain.then(() => this.play(run));
        return;
      }
      case 'host-start':
        this.retitle(e.host, `${e.host}: starting`);
        return;
      case 'step-start':
        this.retitle(e.host, `${e.host}: ${e.step}`);
        return;
      case 'step-end':
        // The title moves on with the next step-start; a failing step is reported by host-end.
        return;
      case 'host-output': {
        // listr keeps the last line under the title while the host runs.
        const slot = this.current?.hosts.get(e.host);
        const last = e.text.split(/\r?\n/).filter((l) => l.trim() !== '').pop();
        if (slot && !slot.settled && last !== undefined) slot.task.output$ = escapeControls(last);
        return;
      }
      case 'message':
        this.message(e);
        return;
      case 'host-end': {
        const slot = this.current?.hosts.get(e.host);
        if (!slot) return;
        const title = e.ok
          ? `${e.host}: ok ${formatMs(e.ms)}${e.summary ? ` ${oneLine(e.summary)}` : ''}`
          : `${e.host}: ${failureText(e)}`;
        this.settle(slot, { ok: e.ok, title });
        return;
      }
      case 'run-end': {
        const run = this.current;
        if (!run) return;
        // A host the engine never ended must not keep the list open forever.
        for (const [host, slot] of run.hosts) this.settle(slot, { ok: false, title: `${host}: no result` });
        run.ended.resolve(e);
        return;
      }
    }
  }

  private createRun(e: EventOf<'run-start'>): LiveRun {
    const hosts = [...new Set(e.hosts)];
    // A large fleet: the list has one task, the fleet row, settled by run-end.
    const titles = isFleet(hosts.length) ? [`${e.command} on ${hosts.length} hosts`] : hosts;
    const outcomes = titles.map(() => deferred<Outcome>());
    const rendererOptions: ListrDefaultRendererOptions = {
      // Our own ProcessOutput, so the list draws on the given stream rather than process.stdout.
      logger: new ListrLogger({
        useIcons: true,
        toStderr: [],
        processOutput: new ProcessOutput(this.stream as NodeJS.WriteStream, this.errStream as NodeJS.WriteStream),
      }),
      lazy: this.lazy,
      // listr shows a failed task as its error message, which we make `lab3: <reason>`.
      collapseErrors: true,
      showErrorMessage: true,
    };
    const listr = new Listr<unknown, typeof TerminalListrRenderer>(
      titles.map((host, i) => ({
        title: isFleet(hosts.length) ? host : `${host}: waiting`,
        task: async () => {
          const outcome = await (outcomes[i] as Deferred<Outcome>).promise;
          // Thrown, not returned: that is how listr marks a task failed (and shows the message).
          if (!outcome.ok) throw new Error(outcome.title);
        },
      })),
      {
        concurrent: true,
        exitOnError: false,
        collectErrors: 'minimal',
        // The command owns Ctrl-C (it must close SSH sessions); listr's handler would exit(127).
        registerSignalListeners: false,
        renderer: TerminalListrRenderer,
        rendererOptions,
      },
    );
    const slots = new Map<string, HostSlot>();
    if (isFleet(hosts.length)) {
      const slot = { task: listr.tasks[0] as ListrTaskObject<unknown>, outcome: outcomes[0] as Deferred<Outcome>, settled: false };
      const counts = Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>;
      counts.waiting = hosts.length;
      const fleet: FleetView = { slot, phase: new Map(hosts.map((h) => [h, 'waiting'])), running: new Map(), counts, ended: [], lastFailed: [], now: e.at };
      const run: LiveRun = { command: e.command, listr, hosts: slots, ended: deferred(), notes: [], fleet };
      this.drawFleet(run, fleet);
      return run;
    }
    hosts.forEach((host, i) => {
      slots.set(host, { task: listr.tasks[i] as ListrTaskObject<unknown>, outcome: outcomes[i] as Deferred<Outcome>, settled: false });
    });
    return { command: e.command, listr, hosts: slots, ended: deferred(), notes: [] };
  }

  /** A large fleet's event: move the host between the counts and redraw the row. */
  private fleetEvent(run: LiveRun, fleet: FleetView, e: LanesEvent): void {
    fleet.now = Math.max(fleet.now, e.at);
    const move = (host: string, to: Phase) => {
      const from = fleet.phase.get(host);
      if (from === undefined || from === 'done' || from === 'failed' || from === to) return;
      fleet.counts[from]--;
      fleet.counts[to]++;
      fleet.phase.set(host, to);
    };
    if (e.type === 'host-start') {
      fleet.running.set(e.host, { step: 'starting', since: e.at });
    } else if (e.type === 'step-start') {
      fleet.running.set(e.host, { step: e.step, since: e.at });
      move(e.host, e.step === 'connect' ? 'connecting' : READ_STEPS.has(e.step) ? 'reading' : 'applying');
    } else if (e.type === 'host-end') {
      fleet.running.delete(e.host);
      fleet.ended.push(e);
      move(e.host, e.ok ? 'done' : 'failed');
      if (!e.ok) fleet.lastFailed = [...fleet.lastFailed, `${e.host}: ${failureText(e)}`].slice(-NAMED);
    } else {
      return;
    }
    // Lazy (tests): once the current burst of events is handled; else at most every FLEET_REDRAW_MS.
    fleet.pending ??= setTimeout(
      () => {
        fleet.pending = undefined;
        this.drawFleet(run, fleet);
      },
      this.lazy ? 0 : FLEET_REDRAW_MS,
    ).unref();
  }

  private drawFleet(run: LiveRun, fleet: FleetView): void {
    if (fleet.slot.settled) return;
    clearTimeout(fleet.pending);
    fleet.pending = undefined;
    const counts = PHASES.map((p) => `${p} ${fleet.counts[p]}`).join(', ');
    fleet.slot.task.title$ = `${run.command} on ${fleet.phase.size} hosts: ${counts}`;
    const longest = [...fleet.running]
      .sort((a, b) => a[1].since - b[1].since)
      .slice(0, NAMED)
      .map(([host, r]) => `${host} (${r.step} ${formatMs(fleet.now - r.since)})`);
    const parts = [longest.length ? `longest: ${longest.join(', ')}` : '', fleet.lastFailed.length ? `failed: ${fleet.lastFailed.join('; ')}` : ''];
    const output = parts.filter(Boolean).join(' · ');
    if (output) fleet.slot.task.output$ = escapeControls(output);
  }

  private async play(run: LiveRun): Promise<void> {
    try {
      await run.listr.run();
    } catch (err) {
      // Only a listr/renderer bug lands here (host failures do not throw); the summary still matters.
      run.notes.push(`lanes: the live display failed: ${errorLine(err)}`);
    }
    const end = await run.ended.promise;
    for (const note of run.notes) this.sink.line(note);
    if (run.fleet) {
      for (const line of fleetResultLines(run.fleet.ended, this.paint)) this.sink.line(line);
      if (end) for (const line of fleetSummaryLines(run.command, end, this.paint)) this.sink.line(line);
    } else if (end) {
      for (const line of summaryLines(run.command, end, this.paint)) this.sink.line(line);
    }
    run.closed = true;
  }

  private message(e: EventOf<'message'>): void {
    const slot = e.host === undefined ? undefined : this.current?.hosts.get(e.host);
    const text = oneLine(e.text);
    const line = `${e.host === undefined ? '' : `${e.host}: `}${e.level === 'warn' ? `${this.paint('yellow', 'warn:')} ` : ''}${text}`;
    if (!this.current || this.current.closed) {
      // Nothing is being drawn (yet, or any more): print straight away.
      this.sink.line(line);
      return;
    }
    if (slot && !slot.settled) slot.task.output$ = text;
    // Info about a running host lives (briefly) under its title; everything else is kept.
    // A large fleet has no row per host: a host's info is dropped as a small fleet's would scroll away.
    if (e.level === 'warn' || (!slot && !(this.current.fleet && e.host !== undefined))) this.current.notes.push(line);
  }

  private retitle(host: string, title: string): void {
    const slot = this.current?.hosts.get(host);
    if (slot && !slot.settled) slot.task.title$ = title;
  }

  private settle(slot: HostSlot, outcome: Outcome): void {
    if (slot.settled) return;
    slot.settled = true;
    slot.task.title$ = outcome.title;
    slot.outcome.resolve(outcome);
  }
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/** Promise.withResolvers is Node 22+; engines allow Node 20. */
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
