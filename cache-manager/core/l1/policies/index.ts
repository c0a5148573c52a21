/** Builds the eviction policy an `L1Cache` is configured with. */
import { LfuPolicy } from "./lfu";
import { LruPolicy } from "./lru";
import type { EvictionPolicy, PolicyContext, PolicyName } from "./policy";
import { WTinyLfuPolicy } from "./wtinylfu";

export { POLICY_NAMES, type EvictionPolicy, type PolicyEntryInfo, type PolicyName, type Segment } from "./policy";

export function createPolicy(name: PolicyName, context: PolicyContext): EvictionPolicy {
  switch (name) {
    case "lru":
      return new LruPolicy(context);
    case "lfu":
      return new LfuPolicy(context);
    case "w-tinylfu":
      return new WTinyLfuPolicy(context);
  }
}
