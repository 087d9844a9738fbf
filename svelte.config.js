// Svelte 5 reads TypeScript in components natively; svelte-check and the Vite plugin share this.
export default {};
