import { useState } from "react";
import { createBrowserRouter, Navigate, RouterProvider, type RouteObject } from "react-router-dom";
import { SWRConfig } from "swr";
import { fetcher, ApiError } from "./api/client";
import { Layout } from "./components/Layout";
import { SessionGate } from "./features/auth/SessionGate";
import { PAGES } from "./routes";

/** Every page behind the session gate, inside the layout; unknown paths go to the Overview. */
export const appRoutes: RouteObject[] = [
  {
    element: <SessionGate />,
    children: [
      {
        element: <Layout />,
        children: [
          { index: true, element: <Navigate to="/overview" replace /> },
          ...PAGES.map((page) => ({ path: page.path.slice(1), element: page.element })),
          { path: "*", element: <Navigate to="/overview" replace /> },
        ],
      },
    ],
  },
];

export function App() {
  const [router] = useState(() => createBrowserRouter(appRoutes));
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
