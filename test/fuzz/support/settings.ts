// Owns the settings every fuzz file shares: the fixed seed, the time one property may take, and
// the app settings under which generated traffic is not mistaken for an attack.
import { EnvSchema } from '../../../src/platform/config.ts';

/**
 * The seed of every property in the layer: a run is reproduced exactly by running it again, and
 * another seed is tried by setting FUZZ_SEED.
 */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20_251_203);

/** The longest one property (its runs and its shrinking) may take on a busy 2-core machine. */
export const FUZZ_TEST_TIMEOUT_MS = 120_000;

/** Failed sign-ins the app allows per username and per address in the fuzz layer's apps. */
const SIGN_IN_FAILURES_ALLOWED = 1_000_000;

/**
 * Settings that lift the limits on failed sign-ins, where the service has them: every fuzzed
 * request comes from one address, and many of them are refused on purpose.
 */
export function generousSignInLimits(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['SHOP_SIGN_IN_FAILURES_PER_USER', 'SHOP_SIGN_IN_FAILURES_PER_ADDRESS']) {
    if (Object.hasOwn(EnvSchema.properties, name)) out[name] = String(SIGN_IN_FAILURES_ALLOWED);
  }
  return out;
}
