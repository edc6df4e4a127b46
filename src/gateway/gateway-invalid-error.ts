import { formatProblem, Problem } from './problems';

/** Stable error code for a gateway manifest that fails validation. */
export const CAP_ERR_GATEWAY_INVALID = 'CAP_ERR_GATEWAY_INVALID';

/**
 * Thrown when an EgressGateway (or the resources around it) fails validation. `problems`
 * holds every "path: message" line so callers can print them all at once.
 */
export class GatewayInvalidError extends Error {
  readonly code = CAP_ERR_GATEWAY_INVALID;
  readonly problems: string[];

  constructor(source: string, problems: Array<Problem | string>) {
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
    super(`${source}: invalid gateway configuration:\n  ${lines.join('\n  ')}`);
    this.name = 'GatewayInvalidError';
    this.problems = lines;
  }
}
