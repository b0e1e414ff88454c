/**
 * One line per event, for CI logs and anything that is not a terminal. Lines start with `[host]`
 * so `grep '^\[lab1\]'` follows one host, and their shape never depends on timing.
 *
 * Where things go: results (one line per finished host, then the run summary and one line per
 * failed host) to `out`, default stdout, so `lanes ping > out.txt` captures exactly the outcome;
 * progress (run header, step results, host output, messages) to `progress`, default stderr.
 *
 * Above FLEET_THRESHOLD hosts (agent/report/fleet.ts) a line per host and step is unreadable: results
 * are grouped by outcome at the end of the run (`ok: web001…web998 (998 hosts): no changes`, one
 * FAILED line per distinct reason), the summary names failed hosts up to a cap, and progress is a
 * line per tenth of the hosts finished instead of a line per step (still independent of timing).
 */

import { colorEnabled, painter, type Paint } from './color.js';
import type { EventBus, EventOf, LanesEvent } from './events.js';
import { failureText, formatMs, oneLine, plural, summaryLines } from './format.js';
import { secrets, type SecretMasker } from './mask.js';
import type { Env, OutputStream, Renderer } from './renderer.js';
import { LineSink } from './sink.js';
import { escapeControls } from './escape.js';
import { fleetResultLines, fleetSummaryLines, isFleet } from './fleet.js';

export interface PlainRendererOptions {
  /** Results and summary. Default process.stdout. */
  out?: OutputStream;
  /** Progress. Default process.stderr. */
  progress?: OutputStream;
  masker?: SecretMasker;
  /** For colour decisions (NO_COLOR, FORCE_COLOR, TERM). Default process.env. */
  env?: Env;
}

export class PlainRenderer implements Renderer {
  private readonly out: LineSink;
  private readonly progress: LineSink;
  private readonly outPaint: Paint;
  private readonly progressPaint: Paint;
  private readonly masker: SecretMasker;
  private command = 'lanes';
  /** Set while a large fleet's run is open: its finished hosts, printed grouped at run-end. */
  private fleet: { hosts: number; ended: EventOf<'host-end'>[]; failed: number } | undefined;
  private detach: (() => void) | undefined;

  constructor(options: PlainRendererOptions = {}) {
    const out = options.out ?? process.stdout;
    const progress = options.progress ?? process.stderr;
    const env = options.env ?? process.env;
    this.out = new LineSink(out);
    this.progress = new LineSink(progress);
    this.outPaint = painter(colorEnabled(out, env));
    this.progressPaint = painter(colorEnabled(progress, env));
    this.masker = options.masker ?? secrets;
  }

  attach(bus: EventBus): void {
    this.detach = bus.on((e) => this.handle(this.masker.maskEvent(e)));
  }

  async done(): Promise<void> {
    this.detach?.();
    this.detach = undefined;
    // No run-end (the command is bailing out): the hosts that did finish are still reported.
    if (this.fleet) for (const line of fleetResultLines(this.fleet.ended, this.outPaint)) this.out.line(line);
    this.fleet = undefined;
    await Promise.all([this.out.flush(), this.progress.flush()]);
  }

  private handle(e: LanesEvent): void {
    const p = this.progressPaint;
    const r = this.outPaint;
    switch (e.type) {
      case 'run-start':
        this.command = e.command;
        this.fleet = isFleet(e.hosts.length) ? { hosts: e.hosts.length, ended: [], failed: 0 } : undefined;
        this.progress.line(`${e.command}: starting on ${plural(e.hosts.length, 'host')}`);
        return;
      case 'host-start':
      case 'step-start':
        // Nothing: the matching -end line says the same with an outcome; printing both would
        // double CI logs. Hangs are bounded by the engine's timeouts, which end in a failure line.
        return;
      case 'step-end': {
        // A large fleet: the outcome per host comes grouped at the end (a failed step ends its host).
        if (this.fleet) return;
        const head = `${tag(e.host, p)} ${e.step}`;
        const detail = e.detail === undefined ? '' : oneLine(e.detail);
        this.progress.line(
          e.ok
            ? `${head} ${p('green', 'ok')} ${formatMs(e.ms)}${detail ? ` ${detail}` : ''}`
            : `${head} ${p('red', 'FAILED')} ${formatMs(e.ms)}${detail ? `: ${detail}` : ''}`,
        );
        return;
      }
      case 'host-output':
        // Each line prefixed, so grepping for a host keeps its output.
        for (const line of e.text.replace(/\r?\n$/, '').split(/\r?\n/)) this.progress.line(`${tag(e.host, p)} | ${escapeControls(line)}`);
        return;
      case 'message': {
        const where = e.host === undefined ? '' : `${tag(e.host, p)} `;
        const text = oneLine(e.text);
        this.progress.line(e.level === 'warn' ? `${where}${p('yellow', 'warn:')} ${text}` : `${where}${text}`);
        return;
      }
      case 'host-end':
        if (this.fleet) {
          this.fleetProgress(this.fleet, e);
          return;
        }
        this.out.line(
          e.ok
            ? `${tag(e.host, r)} ${r('green', 'ok')} ${formatMs(e.ms)}${e.summary ? ` ${oneLine(e.summary)}` : ''}`
            : `${tag(e.host, r)} ${r('red', 'FAILED')}: ${failureText(e)}`,
        );
        return;
      case 'run-end':
        if (this.fleet) {
          for (const line of [...fleetResultLines(this.fleet.ended, r), ...fleetSummaryLines(this.command, e, r)]) this.out.line(line);
          this.fleet = undefined;
          return;
        }
        for (const line of summaryLines(this.command, e, r)) this.out.line(line);
        return;
    }
  }

  /** Keep a large fleet's host for the grouped results; a progress line each time another tenth is done. */
  private fleetProgress(fleet: NonNullable<PlainRenderer['fleet']>, e: EventOf<'host-end'>): void {
    // Only what the grouped lines read: the host's data (a whole plan) would be kept for every host until run-end.
    const { data: _data, ...kept } = e;
    fleet.ended.push(kept);
    if (!e.ok) fleet.failed++;
    const done = fleet.ended.length;
    const step = Math.ceil(fleet.hosts / 10);
    if (done % step === 0 || done === fleet.hosts) {
      this.progress.line(`${this.command}: ${done}/${fleet.hosts} hosts done, ${fleet.failed} failed`);
    }
  }
}

function tag(host: string, paint: Paint): string {
  return paint('dim', `[${host}]`);
}
