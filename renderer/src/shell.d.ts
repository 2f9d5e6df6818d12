// What the Electron preload may add beside the API: the real path of a dropped file (absent in browser mode).
export {};

declare global {
  interface Window {
    clearskyShell?: {
      pathForFile(file: File): string;
    };
  }
}
