/**
 * Text from hosts and files (diffs, command output, error messages) can carry terminal control
 * sequences: a file with `\x1b[1A\x1b[2K` can erase the diff line above it and hide a change from the
 * reviewer. Text renderers show every control character except newline and tab as a visible `\xNN`;
 * JSON output stays exact (JSON.stringify escapes them itself).
 */
// C0 controls but \t and \n, DEL, and the C1 range (\x9b is a one-byte CSI on some terminals).
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
