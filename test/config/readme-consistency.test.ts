/**
 * The README is the operator's reference: every option (flag and env twin)
 * and every error code the service can raise must be documented there.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OPTION_SPECS } from '../../src/config/load-config';
import { ErrorCodes } from '../../src/errors';

const README = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it.each(OPTION_SPECS.map((spec) => [spec.flag, spec.env]))('documents --%s and %s', (flag, env) => {
    expect(README).toContain(`\`--${flag}\``);
    expect(README).toContain(`\`${env}\``);
  });

  it.each(Object.keys(ErrorCodes))('documents the error code %s', (code) => {
    expect(README).toContain(`\`${code}\``);
  });
});
