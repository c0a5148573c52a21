import { Lock, Menu, Search, X } from "lucide-react";
import { useEffect, useRef, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { useAccess } from "../lib/access";
import { PAGES, pageAt } from "../routes";
import { CommandPalette } from "./CommandPalette";
import { Badge } from "./ui";

/** The links to every page and the palette button: the sidebar on wide screens, the drawer on narrow ones. */
function SideNav({ onOpenPalette }: { onOpenPalette: () => void }) {
  return (
    <nav aria-label="Main" className="flex h-full flex-col gap-1 p-3">
      <div className="mb-3 px-2 text-lg font-semibold tracking-tight">Cachet</div>
      {PAGES.map(({ path, label, icon: Icon }) => (
        <NavLink
          key={path}
          to={path}
          className={({ isActive }) =>
            `flex items-center gap-2 rounded-md px-2 py-1.5 text-sm ${isActive ? "bg-accent/10 font-medium text-accent" : "text-muted hover:bg-line/60 hover:text-fg"}`
          }
        >
          <Icon aria-hidden className="size-4" />
          {label}
        </NavLink>
      ))}
      <button className="btn mt-auto justify-between text-muted" onClick={onOpenPalette} aria-keyshortcuts="Control+K Meta+K">
        <span className="flex items-center gap-1.5">
          <Search aria-hidden className="size-4" /> Commands
        </span>
        <kbd className="text-xs">Ctrl K</kbd>
      </button>
    </nav>
  );
}

/** Below the `lg` breakpoint the navigation slides in over the page; Esc, the backdrop or a link closes it. */
function NavDrawer({ onClose, onOpenPalette }: { onClose: () => void; onOpenPalette: () => void }) {
  const panel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    panel.current?.querySelector<HTMLElement>("a, button")?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") {
        event.preventDefault();
        onClose();
      }
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [onClose]);
  return (
    <div className="fixed inset-0 z-40 lg:hidden">
      <div className="absolute inset-0 bg-black/40" onClick={onClose} aria-hidden />
      <div
        ref={panel}
        role="dialog"
        aria-modal="true"
        aria-label="Navigation"
        className="absolute inset-y-0 left-0 flex w-64 max-w-[80vw] flex-col border-r border-line bg-panel shadow-xl"
      >
        <button className="btn absolute top-3 right-3 px-1.5" onClick={onClose} aria-label="Close the menu">
          <X aria-hidden className="size-4" />
        </button>
        <SideNav
          onOpenPalette={() => {
            onClose();
            onOpenPalette();
          }}
        />
      </div>
    </div>
  );
}

export function Layout() {
  const [paletteOpen, setPaletteOpen] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
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
    const page = pageAt(location.pathname);
    document.title = page ? `${page.label} · Cachet` : "Cachet";
    setMenuOpen(false); // a link in the drawer was followed
  }, [location.pathname, location.search]);

  return (
    <div className="flex min-h-screen">
      <a href="#main" className="sr-only rounded-md bg-panel px-3 py-2 focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50">
        Skip to content
      </a>
      {/* The column stretches with the page (its border and background reach the bottom of a long page); the nav inside stays put. */}
      <div className="hidden w-52 shrink-0 border-r border-line bg-panel lg:block">
        <div className="sticky top-0 h-screen">
          <SideNav onOpenPalette={() => setPaletteOpen(true)} />
        </div>
      </div>
      {menuOpen && <NavDrawer onClose={() => setMenuOpen(false)} onOpenPalette={() => setPaletteOpen(true)} />}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center gap-2 border-b border-line px-4 py-2 text-sm lg:px-6">
          <button className="btn px-2 lg:hidden" onClick={() => setMenuOpen(true)} aria-label="Open the menu" aria-expanded={menuOpen}>
            <Menu aria-hidden className="size-4" />
          </button>
          <span className="font-semibold lg:hidden">Cachet</span>
          <div className="ml-auto flex min-w-0 items-center gap-2">
            {access.readOnly && (
              <Badge tone="warn" title="Actions that change data are disabled (Settings)">
                <Lock aria-hidden className="mr-1 size-3" /> read-only
              </Badge>
            )}
            {access.who && (
              <span className="truncate text-muted" data-testid="token-status">
                {access.who.userID} · <Badge tone="accent">{access.who.role}</Badge>
              </span>
            )}
          </div>
        </header>
        <main id="main" tabIndex={-1} className="min-w-0 flex-1 px-4 py-5 focus:outline-none lg:px-6">
          <Outlet />
        </main>
      </div>
      {paletteOpen && <CommandPalette onClose={() => setPaletteOpen(false)} />}
    </div>
  );
}
