import { Badge } from "../../components/ui";

const STATUS_TONE = { succeeded: "ok", failed: "danger", cancelled: "neutral", running: "accent", queued: "warn" } as const;

/** A run's status as a badge coloured by outcome. */
export const statusBadge = (status: string) => <Badge tone={STATUS_TONE[status as keyof typeof STATUS_TONE] ?? "neutral"}>{status}</Badge>;
