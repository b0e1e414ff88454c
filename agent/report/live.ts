/**
 * The terminal view: a listr2 task list with one line per host showing its current step, then the
 * same summary as the plain renderer.
 *
 * listr2 normally runs the work itself; here the engine does, so each host's task is only a promise
 * that its `host-end` event settles. A failed host fails its task without stopping the others
 * (`exitOnError: false`), and nothing is thrown at the end: the command reads `run-end` for its
 * exit code.
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
}

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
      run.ended.resolve(undefined);
    }
    await this.chain;
    await this.sink.flush();
  }

  private handle(e: LanesEvent): void {
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
    const outcomes = hosts.map(() => deferred<Outcome>());
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
      hosts.map((host, i) => ({
        title: `${host}: waiting`,
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
    hosts.forEach((host, i) => {
      slots.set(host, { task: listr.tasks[i] as ListrTaskObject<unknown>, outcome: outcomes[i] as Deferred<Outcome>, settled: false });
    });
    return { command: e.command, listr, hosts: slots, ended: deferred(), notes: [] };
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
    if (end) for (const line of summaryLines(run.command, end, this.paint)) this.sink.line(line);
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
    if (e.level === 'warn' || !slot) this.current.notes.push(line);
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
