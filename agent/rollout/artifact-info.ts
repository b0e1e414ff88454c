/** What a run reports about the artifact it ships: for events, `--json` and the host history. */
import type { ArtifactSource, ReleaseArtifact } from './artifact.js';

export interface ArtifactInfo {
  id: string;
  sha256: string;
  /** A directory or tarball (absolute path), or `{ kind: 'git', ref, commit, repo }`. */
  source: ArtifactSource;
}

export function artifactInfo(a: ReleaseArtifact): ArtifactInfo {
  return { id: a.id, sha256: a.sha256, source: a.source };
}

/** One line: "release r1a2b3c4d5e6f from git:main (commit 0123456789ab…)"; a URL is shown without credentials. */
export function describeArtifact(a: Pick<ReleaseArtifact, 'id' | 'source'>): string {
  const s = a.source;
  const from = s.kind === 'git' ? `git:${s.ref} (commit ${s.commit})` : s.kind === 'url' ? `${s.url} (fetched by each host)` : `${s.kind} ${s.path}`;
  return `release ${a.id} from ${from}`;
}
