/**
 * The defaults of connection-start pacing (see connect-limit.ts), in a module of their own that imports
 * nothing: `--help` shows them, and the CLI's option definitions must not load the transport.
 */

/** Below sshd's default MaxStartups start (10), with room for a person's own ssh to the bastion. */
export const DEFAULT_CONNECT_RATE = 8;
/** Attempts after the first, for a start reset before authentication. */
export const DEFAULT_CONNECT_RETRIES = 4;
