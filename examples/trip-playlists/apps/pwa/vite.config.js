import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Hashed files under /assets/ (the blueprint serves them as immutable); everything else is public/.
export default defineConfig({ plugins: [react()], build: { assetsDir: "assets" } });
