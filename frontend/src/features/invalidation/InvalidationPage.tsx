import { PageHeader, Tabs } from "../../components/ui";
import { useUrlState } from "../../lib/use-url-state";
import { AuditTrail } from "./AuditTrail";
import { Console } from "./Console";
import { invalidationSchema } from "./state";

export function InvalidationPage() {
  const [state, setState] = useUrlState(invalidationSchema);
  return (
    <div>
      <PageHeader title="Invalidation Console" description="Invalidate by keys, pattern or tags; every request is audited." />
      <Tabs
        label="Invalidation views"
        tabs={[
          { id: "invalidate", label: "Invalidate" },
          { id: "audit", label: "Audit trail" },
        ]}
        value={state.tab}
        onChange={(tab) => setState({ tab })}
      />
      {state.tab === "invalidate" ? <Console state={state} setState={setState} /> : <AuditTrail state={state} setState={setState} />}
    </div>
  );
}
