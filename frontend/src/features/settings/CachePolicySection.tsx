import { useState } from "react";
import useSWR from "swr";
import { L1_POLICIES, policyPaths, putL1Policy, resetL1Policy, type AuditPage, type CachePolicy, type L1PolicyName } from "../../api/policy";
import { Badge, ErrorBox } from "../../components/ui";
import { formatBytes, formatNumber } from "../../lib/format";
import { NamespacePolicies } from "./NamespacePolicies";
import { PolicyAuditList } from "./PolicyAuditList";
import { fromUnits, toUnits } from "./policy-text";

const MIB = 1024 * 1024;

/** What a change answered, shown under the section until the next one. */
export type Outcome = { ok: boolean; text: string } | null;
/** Runs a change, then refreshes the policy and the audit; reports success or the service's message. */
export type RunChange = (change: () => Promise<unknown>, done: string) => Promise<void>;

/**
 * The cache policy every instance applies (admin): L1 eviction policy and bounds, per-namespace
 * policies, and the recent changes with who made them.
 */
export function CachePolicySection({ editable }: { editable: boolean }) {
  const policy = useSWR<CachePolicy>(policyPaths.policy);
  const audit = useSWR<AuditPage>(policyPaths.audit());
  const [outcome, setOutcome] = useState<Outcome>(null);
  const run: RunChange = async (change, done) => {
    try {
      await change();
      setOutcome({ ok: true, text: done });
    } catch (error) {
      setOutcome({ ok: false, text: (error as Error).message });
    }
    await Promise.all([policy.mutate(), audit.mutate()]);
  };
  const data = policy.data;
  return (
    <section className="card space-y-4" aria-labelledby="policy-heading" data-testid="cache-policy">
      <div>
        <h2 id="policy-heading" className="font-medium">
          Cache policy
        </h2>
        <p className="text-sm text-muted">Applied by every instance within a second; the entries they hold stay valid.</p>
      </div>
      <ErrorBox error={policy.error} what="Cache policy" />
      {data && data.problems.length > 0 && (
        <div role="alert" className="text-sm text-warn">
          <ul className="list-disc pl-5" aria-label="Stored settings skipped">
            {data.problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      {data && (
        <fieldset disabled={!editable} className="space-y-4">
          <L1Form key={`${data.version}-${data.l1.policy}-${data.l1.maxEntries}-${data.l1.maxBytes}`} policy={data} run={run} />
          <NamespacePolicies policy={data} run={run} />
        </fieldset>
      )}
      {outcome && (
        <p role={outcome.ok ? "status" : "alert"} className={`text-sm ${outcome.ok ? "text-ok" : "text-danger"}`} data-testid="policy-outcome">
          {outcome.text}
        </p>
      )}
      <PolicyAuditList page={audit.data} error={audit.error} />
    </section>
  );
}

function L1Form({ policy, run }: { policy: CachePolicy; run: RunChange }) {
  const { l1, instance } = policy;
  const [name, setName] = useState<L1PolicyName>(l1.policy);
  const [entries, setEntries] = useState(String(l1.maxEntries));
  const [mib, setMib] = useState(toUnits(l1.maxBytes, MIB));
  const submit = () =>
    run(() => putL1Policy({ policy: name, maxEntries: Number(entries), maxBytes: fromUnits(mib, MIB) ?? Number.NaN }), "L1 settings sent to every instance.");
  return (
    <form
      className="space-y-2"
      aria-labelledby="l1-heading"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h3 id="l1-heading" className="flex flex-wrap items-center gap-2 text-sm font-medium">
        L1 (in process) <Badge tone={l1.source === "runtime" ? "accent" : "neutral"}>{l1.source === "runtime" ? "set here" : "from the environment"}</Badge>
      </h3>
      <div className="flex flex-wrap items-end gap-3 text-sm">
        <label className="flex flex-col text-xs text-muted">
          Eviction policy
          <select className="input mt-1" aria-label="Eviction policy" value={name} onChange={(e) => setName(e.target.value as L1PolicyName)}>
            {L1_POLICIES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col text-xs text-muted">
          Max entries
          <input className="input mt-1 w-32" inputMode="numeric" value={entries} onChange={(e) => setEntries(e.target.value)} />
        </label>
        <label className="flex flex-col text-xs text-muted">
          Max size (MiB)
          <input className="input mt-1 w-28" inputMode="decimal" value={mib} onChange={(e) => setMib(e.target.value)} />
        </label>
        <button className="btn-primary" type="submit">
          Apply to every instance
        </button>
        {l1.source === "runtime" && (
          <button className="btn" type="button" onClick={() => void run(resetL1Policy, "L1 settings back to the environment's.")}>
            Use the environment's
          </button>
        )}
      </div>
      <p className="text-xs text-muted" data-testid="l1-applied">
        This instance ({instance.instanceId}) applies {instance.l1.policy}, {formatNumber(instance.l1.maxEntries, 0)} entries,{" "}
        {formatBytes(instance.l1.maxBytes)}; it holds {formatNumber(instance.l1.entries, 0)} entries ({formatBytes(instance.l1.bytes)}). Smaller bounds evict
        what no longer fits.
      </p>
    </form>
  );
}
