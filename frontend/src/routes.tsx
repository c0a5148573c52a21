/**
 * The dashboard's pages, listed once: the router, the sidebar (and its phone drawer), the page
 * titles and the command palette's "Go to" entries all read this table.
 */
import { Activity, Beaker, Database, Eraser, Flame, Settings as SettingsIcon, type LucideIcon } from "lucide-react";
import type { ReactElement } from "react";
import { ExplorerPage } from "./features/explorer/ExplorerPage";
import { InvalidationPage } from "./features/invalidation/InvalidationPage";
import { LabPage } from "./features/lab/LabPage";
import { OverviewPage } from "./features/overview/OverviewPage";
import { SettingsPage } from "./features/settings/SettingsPage";
import { WarmingPage } from "./features/warming/WarmingPage";

export interface PageRoute {
  /** The URL path, e.g. "/overview". */
  path: string;
  /** The page's name in the sidebar, the tab title and the command palette. */
  label: string;
  icon: LucideIcon;
  element: ReactElement;
  /** Other words the command palette matches the page by. */
  keywords: string;
  /** Views inside the page the palette can open directly (a query string on the page's path). */
  views?: ReadonlyArray<{ id: string; label: string; search: string; keywords: string }>;
}

export const PAGES: readonly PageRoute[] = [
  { path: "/overview", label: "Overview", icon: Activity, element: <OverviewPage />, keywords: "metrics charts dashboard" },
  { path: "/explorer", label: "Cache Explorer", icon: Database, element: <ExplorerPage />, keywords: "keys search browse" },
  {
    path: "/invalidation",
    label: "Invalidation",
    icon: Eraser,
    element: <InvalidationPage />,
    keywords: "console purge delete pattern tags",
    views: [{ id: "audit", label: "Audit trail", search: "?tab=audit", keywords: "invalidation history verify" }],
  },
  { path: "/warming", label: "Warming Jobs", icon: Flame, element: <WarmingPage />, keywords: "cron schedule runs" },
  { path: "/lab", label: "Lab", icon: Beaker, element: <LabPage />, keywords: "demo scenarios experiments" },
  { path: "/settings", label: "Settings", icon: SettingsIcon, element: <SettingsPage />, keywords: "token theme polling sign out" },
];

/** The page `pathname` belongs to, if any. */
export function pageAt(pathname: string): PageRoute | undefined {
  return PAGES.find((page) => pathname === page.path || pathname.startsWith(`${page.path}/`));
}
