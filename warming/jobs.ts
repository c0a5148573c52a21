/**
 * Warming jobs: create, list, read, change and delete. Viewer reads, operator writes. The work
 * is done by core/ (validation in core/spec.ts, storage in core/repository.ts).
 */
import { api, APIError } from "encore.dev/api";
import { requireRole } from "../lib/auth/access";
import { WarmingNotFoundError } from "./core/errors";
import { validateJob, type JobInput } from "./core/spec";
import { canAccessJob, parseCursor, parseId, parseLimit, requireJobAccess } from "./access";
import { edge } from "./edge";
import { repository } from "./runtime";
import { jobView, type WarmingJob } from "./views";

interface ListJobsParams {
  /** From the previous page. */
  cursor?: string;
  /** Jobs per page, 1 to 500 (default 100). */
  limit?: number;
}

export interface JobList {
  jobs: WarmingJob[];
  /** Pass back as `cursor` for the next page; absent on the last page. */
  cursor?: string;
}

interface JobParams {
  id: number;
}

interface UpdateJobParams extends JobInput {
  id: number;
}

export interface DeletedJob {
  id: number;
  deleted: boolean;
}

async function requireJob(id: number) {
  const job = await repository.getJob(parseId(id, "job"));
  if (!job) throw new WarmingNotFoundError(`warming job ${id} does not exist`);
  return job;
}

/** The jobs, by id, cursor-paged. Viewer. */
export const listJobs = api({ method: "GET", path: "/api/warming/jobs", expose: true, auth: true }, async (p: ListJobsParams): Promise<JobList> =>
  edge(async () => {
    const who = requireRole("viewer");
    const limit = parseLimit(p.limit, 100, 500);
    const jobs = await repository.listJobs({ afterId: parseCursor(p.cursor), limit: limit + 1 });
    const page = jobs.slice(0, limit);
    const now = Date.now();
    // A namespace-limited token sees only its own jobs (the page may then hold fewer than `limit`).
    const visible = page.filter((j) => canAccessJob(who, j)).map((j) => jobView(j, now));
    return jobs.length > limit ? { jobs: visible, cursor: String(page[page.length - 1].id) } : { jobs: visible };
  }),
);

/** Creates a job. Operator. 409 when the name is taken. */
export const createJob = api({ method: "POST", path: "/api/warming/jobs", expose: true, auth: true }, async (p: JobInput): Promise<WarmingJob> =>
  edge(async () => {
    const who = requireRole("operator");
    const def = validateJob(p);
    requireJobAccess(who, def);
    return jobView(await repository.createJob(def, Date.now()), Date.now());
  }),
);

/** One job, with its next run time. Viewer. */
export const getJob = api({ method: "GET", path: "/api/warming/jobs/:id", expose: true, auth: true }, async ({ id }: JobParams): Promise<WarmingJob> =>
  edge(async () => {
    const who = requireRole("viewer");
    const job = await requireJob(id);
    requireJobAccess(who, job);
    return jobView(job, Date.now());
  }),
);

/**
 * Changes a job: the fields sent replace the stored ones, the others stay (`schedule: ""` removes
 * the schedule). Changing the schedule, time zone or `enabled` restarts the schedule from now.
 * Operator.
 */
export const updateJob = api(
  { method: "PUT", path: "/api/warming/jobs/:id", expose: true, auth: true },
  async ({ id, ...patch }: UpdateJobParams): Promise<WarmingJob> =>
    edge(async () => {
      const who = requireRole("operator");
      const current = await requireJob(id);
      requireJobAccess(who, current);
      const def = validateJob(patch, current);
      requireJobAccess(who, def);
      const updated = await repository.updateJob(current.id, def, Date.now());
      if (!updated) throw APIError.notFound(`warming job ${id} does not exist`);
      return jobView(updated, Date.now());
    }),
);

/** Deletes a job; its runs stay in the history. Operator. */
export const deleteJob = api({ method: "DELETE", path: "/api/warming/jobs/:id", expose: true, auth: true }, async ({ id }: JobParams): Promise<DeletedJob> =>
  edge(async () => {
    const who = requireRole("operator");
    requireJobAccess(who, await requireJob(id));
    if (!(await repository.deleteJob(id))) throw APIError.notFound(`warming job ${id} does not exist`);
    return { id, deleted: true };
  }),
);
