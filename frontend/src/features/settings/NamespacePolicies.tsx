import { useState } from "react";
import { putNamespacePolicy, removeNamespacePolicy, type CachePolicy, type NamespacePolicy } from "../../api/policy";
import { Badge, Empty } from "../../components/ui";
import { formatTtl } from "../../lib/format";
import type { RunChange } from "./CachePolicySection";
import { describeSettings, fromUnits, toUnits } from "./policy-text";

const SECOND = 1_000;
const DAY = 86_400_000;
type L3Choice = "default" | "on" | "off";

/** Per-namespace policies: the table, and a form that adds a namespace or edits the one picked. */
export function NamespacePolicies({ policy, run }: { policy: CachePolicy; run: RunChange }) {
  const [editing, setEditing] = useState<NamespacePolicy>({ namespace: "" });
  return (
    <div className="space-y-2">
      <h3 className="text-sm font-medium">Namespaces</h3>
      <p className="text-xs text-muted" data-testid="namespace-defaults">
        Defaults: {describeSettings(policy.defaults)}.{!policy.defaults.l3 && " This deployment runs no L3 tier: L3 settings take effect once it does."}
      </p>
      {policy.namespaces.length === 0 ? (
        <Empty>Every namespace uses the defaults.</Empty>
      ) : (
        <table className="w-full table-fixed text-sm" aria-label="Namespace policies">
          <thead className="text-left text-xs uppercase text-muted">
            <tr className="border-b border-line">
              <th className="py-2">Namespace</th>
              <th>TTL</th>
              <th>L3</th>
              <th className="hidden sm:table-cell">Retention</th>
              <th className="w-28">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {policy.namespaces.map((ns) => (
              <tr key={ns.namespace} className="border-b border-line/60">
                <td className="truncate py-2 font-mono" title={ns.namespace}>
                  {ns.namespace}
                </td>
                <td>{ns.defaultTtlMs !== undefined ? formatTtl(ns.defaultTtlMs) : <span className="text-muted">default</span>}</td>
                <td>
                  {ns.l3 === undefined ? <span className="text-muted">default</span> : <Badge tone={ns.l3 ? "ok" : "neutral"}>{ns.l3 ? "on" : "off"}</Badge>}
                </td>
                <td className="hidden sm:table-cell">
                  {ns.l3RetentionMs !== undefined ? formatTtl(ns.l3RetentionMs) : <span className="text-muted">default</span>}
                </td>
                <td className="space-x-1 text-right">
                  <button type="button" className="btn px-2 py-0.5 text-xs" aria-label={`Edit ${ns.namespace}`} onClick={() => setEditing(ns)}>
                    Edit
                  </button>
                  <button
                    type="button"
                    className="btn px-2 py-0.5 text-xs"
                    aria-label={`Remove ${ns.namespace}`}
                    onClick={() => void run(() => removeNamespacePolicy(ns.namespace), `${ns.namespace} uses the defaults again.`)}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <NamespaceForm key={editing.namespace} initial={editing} run={run} />
    </div>
  );
}

function NamespaceForm({ initial, run }: { initial: NamespacePolicy; run: RunChange }) {
  const [namespace, setNamespace] = useState(initial.namespace);
  const [ttl, setTtl] = useState(toUnits(initial.defaultTtlMs, SECOND));
  const [l3, setL3] = useState<L3Choice>(initial.l3 === undefined ? "default" : initial.l3 ? "on" : "off");
  const [retention, setRetention] = useState(toUnits(initial.l3RetentionMs, DAY));
  const submit = () => {
    const policy: NamespacePolicy = {
      namespace,
      defaultTtlMs: fromUnits(ttl, SECOND),
      l3: l3 === "default" ? undefined : l3 === "on",
      l3RetentionMs: fromUnits(retention, DAY),
    };
    return run(() => putNamespacePolicy(policy), `Policy of ${namespace} sent to every instance.`);
  };
  return (
    <form
      className="flex flex-wrap items-end gap-3 text-sm"
      aria-label="Namespace policy"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <label className="flex flex-col text-xs text-muted">
        Namespace
        <input className="input mt-1 w-32 font-mono" placeholder="product:" value={namespace} onChange={(e) => setNamespace(e.target.value)} />
      </label>
      <label className="flex flex-col text-xs text-muted">
        Default TTL (s)
        <input className="input mt-1 w-24" inputMode="decimal" placeholder="default" value={ttl} onChange={(e) => setTtl(e.target.value)} />
      </label>
      <label className="flex flex-col text-xs text-muted">
        L3
        <select className="input mt-1" aria-label="L3" value={l3} onChange={(e) => setL3(e.target.value as L3Choice)}>
          <option value="default">default</option>
          <option value="on">on</option>
          <option value="off">off</option>
        </select>
      </label>
      <label className="flex flex-col text-xs text-muted">
        L3 retention (days)
        <input className="input mt-1 w-24" inputMode="decimal" placeholder="default" value={retention} onChange={(e) => setRetention(e.target.value)} />
      </label>
      <button className="btn-primary" type="submit">
        Save namespace
      </button>
    </form>
  );
}
