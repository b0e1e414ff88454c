/**
 * One line per event, for CI logs and anything that is not a terminal. Lines start with `[host]`
 * so `grep '^\[lab1\]'` follows one host, and their shape never depends on timing.
 *
 * Where things go: results (one line per finished host, then the run summary and one line per
 * failed host) to `out`, default stdout, so `lanes ping > out.txt` captures exactly the outcome;
 * progress (run header, step results, host output, messages) to `progress`, default stderr.
 */

import { colorEnabled, painter, type Paint } from './color.js';
import type { EventBus, LanesEvent } from './events.js';
import { failureText, formatMs, oneLine, plural, summaryLines } from './format.js';
import { secrets, type SecretMasker } from './mask.js';
import type { Env, OutputStream, Renderer } from './renderer.js';
import { LineSink } from './sink.js';
import { escapeControls } from './escape.js';

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
    await Promise.all([this.out.flush(), this.progress.flush()]);
  }

  private handle(e: LanesEvent): void {
    const p = this.progressPaint;
    const r = this.outPaint;
    switch (e.type) {
      case 'run-start':
        this.command = e.command;
        this.progress.line(`${e.command}: starting on ${plural(e.hosts.length, 'host')}`);
        return;
      case 'host-start':
      case 'step-start':
        // Nothing: the matching -end line says the same with an outcome; printing both would
        // double CI logs. Hangs are bounded by the engine's timeouts, which end in a failure line.
        return;
      case 'step-end': {
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
        this.out.line(
          e.ok
            ? `${tag(e.host, r)} ${r('green', 'ok')} ${formatMs(e.ms)}${e.summary ? ` ${oneLine(e.summary)}` : ''}`
            : `${tag(e.host, r)} ${r('red', 'FAILED')}: ${failureText(e)}`,
        );
        return;
      case 'run-end':
        for (const line of summaryLines(this.command, e, r)) this.out.line(line);
        return;
    }
  }
}

function tag(host: string, paint: Paint): string {
  return paint('dim', `[${host}]`);
}
