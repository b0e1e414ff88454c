// lanes' one FastCGI client is a real .php file in the tree, found by the compiled code in dist/ and
// embedded in every script that needs FastCGI; no other inline client remains in the release scripts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fcgiPhp } from '../../../agent/remote/fcgi.js';
import { fcgiShell } from '../../../agent/remote/sh.js';
import { healthScript } from '../../../agent/rollout/health.js';
import { repoRoot } from '../../support/paths.js';

describe('fcgi.php', () => {
  it('is read from the source tree by the compiled module, and is what the scripts carry', () => {
    const text = fcgiPhp();
    assert.equal(text, readFileSync(path.join(repoRoot, 'agent', 'remote', 'fcgi.php'), 'utf8'));
    assert.match(text, /^<\?php\n/);
    assert.ok(fcgiShell().includes("fcgi_record(int $type"), 'the shell kit embeds the file');
    const h = healthScript({ pools: [{ name: 'api', listen: '/run/php/api.sock', ping: { path: '/ping', response: 'pong' } }], health: { timeoutMs: 1000 } }, { releaseId: 'r1', fpmUnit: 'php8.2-fpm.service' });
    assert.equal(h.text.split('stream_socket_client').length - 1, 1, 'one FastCGI client in the health gate');
    assert.match(h.text, /env -i PATH="\$PATH" \$LANES_TO "\$_php" -n "\$LANES_W\/fcgi\.php"/, 'run with php -n and a clean environment');
  });
});
