export declare const publicDir: string;
export declare function isBuilt(): boolean;
export declare function isStale(): boolean;
export declare function build(): void;
export declare function buildIfNeeded(): boolean;
