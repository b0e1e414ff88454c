/**
 * An ed25519 key pair that ssh2 can read back: about 3 in 1000 of the OpenSSH private keys ssh2's
 * generateKeyPairSync writes are refused by its own parser ("Malformed OpenSSH private key"), which
 * made tests and the simulator's server fail now and then. Generated again until one parses.
 */
import ssh2 from 'ssh2';

export function parsableKeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair;
  }
}
