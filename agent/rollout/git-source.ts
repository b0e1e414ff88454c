/**
 * `--artifact git:REF`: the tree of a commit, read from `git archive --format=tar` as a stream and
 * re-packed deterministically (pack.ts), so the release holds exactly what was committed (a dirty
 * work tree is irrelevant) and the same commit always gives the same release id. git is a normal
 * tool on laptops and CI runners, and not GNU-only.
 */
import { spawn } from 'node:child_process';
import { LanesError } from '../errors.js';
import { entryName, readTar, type PackEntry } from './pack.js';

/** Where a git artifact came from: recorded in the run's events and report (and the host history). */
export interface GitSource {
  kind: 'git';
  /** The ref as given ("HEAD", "v1.4.2", "main"). */
  ref: string;
  /** The full commit id REF resolved to. */
  commit: string;
  /** The repository's top-level directory. */
  repo: string;
}

/** The ref of a `git:REF` artifact argument, or undefined for a path. */
export function gitRefOf(artifact: string): string | undefined {
  return artifact.startsWith('git:') ? artifact.slice(4) : undefined;
}

/** Resolve REF in the repository holding `dir` and read its tree as release entries. */
export async function readGitTree(ref: string, dir: string): Promise<{ source: GitSource; entries: PackEntry[] }> {
  const what = `git:${ref}`;
  // A ref starting with '-' would be read by git as an option.
  if (ref === '' || ref.startsWith('-') || /[\s\0]/.test(ref)) {
    throw new LanesError(`release artifact ${what}: ${JSON.stringify(ref)} is not a git ref`, { hint: 'e.g. --artifact git:HEAD, git:v1.4.2, git:main' });
  }
  const top = await git(['rev-parse', '--show-toplevel'], dir).catch((e: GitFailure) => {
    throw new LanesError(`release artifact ${what}: ${dir} is not in a git repository${e.spawnError ? ` (${e.spawnError})` : ''}`, {
      hint: e.spawnError ? 'git is needed for --artifact git:REF' : 'give --repo DIR, a directory of the repository to release from',
    });
  });
  const repo = top.toString('utf8').trim();
  const commit = (
    await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], repo).catch(() => {
      throw new LanesError(`release artifact ${what}: no commit ${ref} in the git repository ${repo}`, { hint: 'give a branch, tag or commit id of that repository' });
    })
  )
    .toString('utf8')
    .trim();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new LanesError(`release artifact ${what}: git gave ${JSON.stringify(commit)} as the commit id`, { kind: 'internal' });

  const entries: PackEntry[] = [];
  const child = spawn('git', ['archive', '--format=tar', commit], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', () => resolve(null));
    child.on('close', (code) => resolve(code));
  });
  try {
    await readTar(child.stdout, async (h, data) => {
      const name = entryName(h.name);
      if (name === '' || name === '.') return;
      if (h.type === 'directory') entries.push({ name, type: 'directory', mode: h.mode });
      else if (h.type === 'symlink') entries.push({ name, type: 'symlink', mode: 0o777, linkname: h.linkname ?? '' });
      else if (h.type === 'file') entries.push({ name, type: 'file', mode: h.mode, data: data ?? Buffer.alloc(0) });
      else throw new Error(`entry ${name} is a ${h.type}`);
    });
  } catch (e) {
    child.kill();
    await exited;
    throw new LanesError(`release artifact ${what}: cannot read git archive of ${commit}: ${lastLine(err) || (e as Error).message}`);
  }
  const code = await exited;
  if (code !== 0) throw new LanesError(`release artifact ${what}: git archive of ${commit} failed: ${lastLine(err) || `exit ${code}`}`);
  if (!entries.some((e) => e.type !== 'directory')) {
    throw new LanesError(`release artifact ${what} contains no files`, { hint: 'an empty release cannot be served' });
  }
  return { source: { kind: 'git', ref, commit, repo }, entries };
}

interface GitFailure {
  code: number | null;
  stderr: string;
  spawnError?: string;
}

function git(args: string[], cwd: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', (e) => reject({ code: null, stderr, spawnError: e.message } satisfies GitFailure));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject({ code, stderr } satisfies GitFailure)));
  });
}

function lastLine(s: string): string {
  return s.trim().split('\n').pop() ?? '';
}
