// phial — the framework.
export {};
