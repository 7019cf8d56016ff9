import { render } from "preact";
import { App } from "./App";
import { loadConfig, signIn } from "./auth";
import "./styles.css";

const root = document.getElementById("app")!;

(async () => {
  try {
    await loadConfig();
    await signIn();
    render(<App />, root);
  } catch (e) {
    root.innerHTML = "";
    const p = document.createElement("p");
    p.className = "error-box";
    p.setAttribute("role", "alert");
    p.textContent = `The dashboard could not start: ${(e as Error).message}`;
    root.appendChild(p);
  }
})();
