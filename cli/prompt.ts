/** Ask for a secret on the terminal without echoing it. */
import { LanesError } from '../agent/errors.js';

export async function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    throw new LanesError('cannot ask for the become password: standard input is not a terminal', {
      hint: 'set LANES_BECOME_PASSWORD, or ansible_become_password in the inventory',
    });
  }
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let answer = '';
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(answer);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new LanesError('cancelled'));
          return;
        }
        if (ch === '\u007f') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    const done = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    input.on('data', onData);
  });
}
