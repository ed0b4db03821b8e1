// QuickJS 2025-04-26 built-in modules: only the bare names 'std' and 'os' resolve (not 'qjs:std'); esbuild marks them external.
declare module 'std';
declare module 'os';
