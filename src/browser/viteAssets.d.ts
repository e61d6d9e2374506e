/**
 * Vite's `?url` imports: the module's default export is the URL the asset is served from (the
 * dev server's path, or the hashed file a build emits). Only src/browser/assets.ts uses them.
 */
declare module '*?url' {
  const url: string;
  export default url;
}
