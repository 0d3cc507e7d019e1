declare module 'vitest' {
  export interface ProvidedContext {
    strataEnv: Array<'aws' | 'kube' | 'image'>;
  }
}

export {};
