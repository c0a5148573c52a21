import { createBrowserRouter, Navigate, RouterProvider } from "react-router-dom";
import { SWRConfig } from "swr";
import { fetcher, ApiError } from "./api/client";
import { Layout } from "./components/Layout";
import { ExplorerPage } from "./features/explorer/ExplorerPage";
import { InvalidationPage } from "./features/invalidation/InvalidationPage";
import { LabPage } from "./features/lab/LabPage";
import { OverviewPage } from "./features/overview/OverviewPage";
import { SettingsPage } from "./features/settings/SettingsPage";
import { WarmingPage } from "./features/warming/WarmingPage";

export const NAV = [
  { path: "/overview", label: "Overview" },
  { path: "/explorer", label: "Cache Explorer" },
  { path: "/invalidation", label: "Invalidation" },
  { path: "/warming", label: "Warming Jobs" },
  { path: "/lab", label: "Lab" },
  { path: "/settings", label: "Settings" },
] as const;

const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { index: true, element: <Navigate to="/overview" replace /> },
      { path: "overview", element: <OverviewPage /> },
      { path: "explorer", element: <ExplorerPage /> },
      { path: "invalidation", element: <InvalidationPage /> },
      { path: "warming", element: <WarmingPage /> },
      { path: "lab", element: <LabPage /> },
      { path: "settings", element: <SettingsPage /> },
      { path: "*", element: <Navigate to="/overview" replace /> },
    ],
  },
]);

export function App() {
  return (
    <SWRConfig
      value={{
        fetcher,
        // Polling stops while the tab is hidden (SWR's refreshWhenHidden is false) and resumes on focus.
        refreshWhenHidden: false,
        revalidateOnFocus: true,
        shouldRetryOnError: (error) => !(error instanceof ApiError && (error.notDeployed || error.status === 401 || error.status === 403)),
        // Keep retrying (backing off to 30 s) so a page recovers on its own after an outage.
        onErrorRetry: (_error, _key, _config, revalidate, { retryCount }) => {
          setTimeout(() => void revalidate({ retryCount }), Math.min(30_000, 1000 * 2 ** Math.min(retryCount, 5)));
        },
      }}
    >
      <RouterProvider router={router} />
    </SWRConfig>
  );
}
