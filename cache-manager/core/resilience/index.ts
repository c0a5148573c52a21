/**
 * Resilience building blocks for the cache: an injectable clock, local single-flight, Redis
 * leases, a circuit breaker, degradation levels, and soft/hard timeouts with TTL jitter.
 */
export { FakeClock, monotonicClock, sleep, systemClock, type Clock, type TimerHandle } from "../../../lib/clock.ts";
export {
  CircuitBreaker,
  type BreakerState,
  type BreakerStateChange,
  type BreakerStats,
  type CircuitBreakerOptions,
  type FailureRateThreshold,
} from "./breaker.ts";
export {
  DEGRADATION_LEVELS,
  DegradationPolicy,
  deriveLevel,
  planFor,
  type AccessPlan,
  type CacheTier,
  type DegradationChange,
  type DegradationInputs,
  type DegradationLevel,
  type RequestKind,
  type Tier,
} from "./degradation.ts";
export { BreakerOpenError, HardTimeoutError, LeaseTimeoutError, LeaseUnavailableError, ResilienceArgumentError } from "./errors.ts";
export { RedisLease, type LeaseWaitOptions, type RedisLeaseOptions } from "./lease.ts";
export { SingleFlight, type SingleFlightStats } from "./singleflight.ts";
export { jitterTtl, withTimeouts, type LoadOutcome, type TimedLoad, type TimedLoadOptions } from "./timeouts.ts";
