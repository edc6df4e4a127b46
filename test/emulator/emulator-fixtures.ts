/**
 * For the emulator's self-test files: starts FakeProcessors and
 * EnvoyEmulators, and closes everything a file started once its tests are
 * done.
 */
import { EnvoyEmulator, type EnvoyEmulatorOptions } from './envoy-emulator';
import { FakeProcessor, type FakeProcessorOptions } from './fake-processors';

export interface EmulatorFixtures {
  /** A fake processor and an emulator aimed at it. */
  setup(processorOptions: FakeProcessorOptions, options?: Omit<EnvoyEmulatorOptions, 'target'>): Promise<{ processor: FakeProcessor; emulator: EnvoyEmulator }>;
  /** An emulator aimed wherever `options.target` says (e.g. nowhere). */
  emulator(options: EnvoyEmulatorOptions): EnvoyEmulator;
}

/** Call at the top level of a test file; registers the file's afterAll cleanup. */
export function emulatorFixtures(): EmulatorFixtures {
  const processors: FakeProcessor[] = [];
  const emulators: EnvoyEmulator[] = [];
  afterAll(async () => {
    for (const e of emulators) e.close();
    await Promise.all(processors.map((p) => p.stop()));
  });
  const emulator = (options: EnvoyEmulatorOptions): EnvoyEmulator => {
    const created = new EnvoyEmulator(options);
    emulators.push(created);
    return created;
  };
  return {
    emulator,
    async setup(processorOptions, options = {}) {
      const processor = new FakeProcessor(processorOptions);
      processors.push(processor);
      return { processor, emulator: emulator({ target: await processor.start(), ...options }) };
    },
  };
}
