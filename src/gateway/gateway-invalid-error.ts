import { CaptureError } from '../errors';
import { formatProblem, Problem } from './problems';

/**
 * CAP_ERR_GATEWAY_INVALID: an EgressGateway (or the resources around it) fails validation.
 * `problems` holds every "path: message" line so callers can print them all at once.
 */
export class GatewayInvalidError extends CaptureError {
  constructor(source: string, problems: Array<Problem | string>) {
    const lines = problems.map((p) => (typeof p === 'string' ? p : formatProblem(p)));
    super('CAP_ERR_GATEWAY_INVALID', `${source}: invalid gateway configuration:\n  ${lines.join('\n  ')}`, { problems: lines });
    this.name = 'GatewayInvalidError';
  }
}
