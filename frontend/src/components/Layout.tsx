import { Activity, Beaker, Database, Eraser, Flame, Lock, Search, Settings as SettingsIcon } from "lucide-react";
import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useAccess } from "../lib/access";
import { CommandPalette } from "./CommandPalette";
import { Badge } from "./ui";

const LINKS = [
  { to: "/overview", label: "Overview", icon: Activity },
  { to: "/explorer", label: "Cache Explorer", icon: Database },
  { to: "/invalidation", label: "Invalidation", icon: Eraser },
  { to: "/warming", label: "Warming Jobs", icon: Flame },
  { to: "/lab", label: "Lab", icon: Beaker },
  { to: "/settings", label: "Settings", icon: SettingsIcon },
];

export function Layout() {
  const [paletteOpen, setPaletteOpen] = useState(false);
  const access = useAccess();
  const location = useLocation();

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        setPaletteOpen((open) => !open);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const page = LINKS.find((l) => location.pathname.startsWith(l.to));
    document.title = page ? `${page.label} · Cachet` : "Cachet";
  }, [location.pathname]);

  return (
    <div className="flex min-h-screen">
      {/* The column stretches with the page (its border and background reach the bottom of a long page); the nav inside stays put. */}
      <div className="w-52 shrink-0 border-r border-line bg-panel">
        <nav aria-label="Main" className="sticky top-0 flex h-screen flex-col gap-1 p-3">
          <div className="mb-3 px-2 text-lg font-semibold tracking-tight">Cachet</div>
          {LINKS.map(({ to, label, icon: Icon }) => (
            <NavLink
              key={to}
              to={to}
              className={({ isActive }) => `flex items-center gap-2 rounded-md px-2 py-1.5 text-sm ${isActive ? "bg-accent/10 font-medium text-accent" : "text-muted hover:bg-line/60 hover:text-fg"}`}
            >
              <Icon aria-hidden className="size-4" />
              {label}
            </NavLink>
          ))}
          <button className="btn mt-auto justify-between text-muted" onClick={() => setPaletteOpen(true)} aria-label="Open the command palette">
            <span className="flex items-center gap-1.5">
              <Search aria-hidden className="size-4" /> Commands
            </span>
            <kbd className="text-xs">Ctrl K</kbd>
          </button>
        </nav>
      </div>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center justify-end gap-2 border-b border-line px-6 py-2 text-sm">
          {access.readOnly && (
            <Badge tone="warn" title="Actions that change data are disabled (Settings)">
              <Lock aria-hidden className="mr-1 size-3" /> read-only
            </Badge>
          )}
          {!access.hasToken ? (
            <NavLink to="/settings" className="text-warn underline">
              No API token — set one in Settings
            </NavLink>
          ) : access.error ? (
            <span className="text-danger" data-testid="token-status">
              token rejected
            </span>
          ) : access.who ? (
            <span className="text-muted" data-testid="token-status">
              {access.who.userID} · <Badge tone="accent">{access.who.role}</Badge>
            </span>
          ) : null}
        </header>
        <main className="min-w-0 flex-1 px-6 py-5">
          <Outlet />
        </main>
      </div>
      {paletteOpen && <CommandPalette onClose={() => setPaletteOpen(false)} />}
    </div>
  );
}
