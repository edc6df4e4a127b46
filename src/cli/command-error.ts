import { CaptureError, describeError } from '../errors';

/** An error as a command prints it: its registry code first when it has one, then what happened. */
export function commandError(err: unknown): string {
  return err instanceof CaptureError ? `${err.code}: ${describeError(err)}` : describeError(err);
}
