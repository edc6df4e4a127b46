/**
 * Bench settings: the scaling section's flags and their environment twins.
 */
import { benchHelp, loadBenchConfig } from './bench-config';

describe('bench settings for the scaling section', () => {
  it('runs the scaling section by default, with 1,500 exchanges a point', () => {
    const config = loadBenchConfig([], {}, '/repo');
    expect(config.skipScaling).toBe(false);
    expect(config.scalingExchanges).toBe(1500);
    expect(config.only).toBe('all');
  });

  it('takes --only scaling, --skip-scaling and --scaling-exchanges, flags over env', () => {
    const config = loadBenchConfig(['--only', 'scaling', '--scaling-exchanges=300'], { BENCH_SKIP_SCALING: 'true', BENCH_SCALING_EXCHANGES: '900' }, '/repo');
    expect(config).toMatchObject({ only: 'scaling', skipScaling: true, scalingExchanges: 300 });
  });

  it('rejects a scaling exchange count that is not a whole number, naming the flag', () => {
    expect(() => loadBenchConfig(['--scaling-exchanges', '0'], {}, '/repo')).toThrow('invalid bench settings: scaling-exchanges=0 (expected a whole number ≥ 1)');
  });

  it('lists the settings in --help', () => {
    expect(benchHelp()).toMatch(/--skip-scaling .*BENCH_SKIP_SCALING/);
    expect(benchHelp()).toMatch(/--only .*scaling/);
  });
});
