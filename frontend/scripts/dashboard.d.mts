export declare const distDir: string;
export declare function isBuilt(): boolean;
export declare function ensurePlaceholder(): boolean;
export declare function isStale(): boolean;
export declare function build(): void;
export declare function buildIfNeeded(): boolean;
