/** The NOOP mechanism: a hop that needs no data-plane wiring (tests, pure control-plane services). */
import { newMechanism } from '../../../api/builders.js';
import { MechanismClass, MechanismType, type Mechanism } from '../../../api/types.js';

/** A NOOP mechanism (cls LOCAL, no parameters). Usage: `mechanismPreferences([noopMechanism()])`. */
export function noopMechanism(): Mechanism {
  return newMechanism(MechanismType.NOOP, MechanismClass.LOCAL);
}

/** Whether `m` is a NOOP mechanism. */
export function isNoop(m: Mechanism | null | undefined): m is Mechanism {
  return m?.type === MechanismType.NOOP;
}
