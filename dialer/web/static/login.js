// The login page. Russian unless opened as /login?lang=en; a language picked here is the user's choice,
// stored with their account on logging in (the header's menu changes it later).
"use strict";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("login-error", null);
  try {
    const s = await api("POST", "/session", {
      username: document.getElementById("username").value, password: document.getElementById("password").value });
    const picked = new URLSearchParams(location.search).get("lang");
    if (picked === "ru" || picked === "en") {
      await fetch("/api/v1/me/language", { method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": s.csrf_token }, body: JSON.stringify({ language: picked }) });
    }
    location.href = s.role === "admin" ? "/admin" : "/agent";
  } catch (e) { showError("login-error", e); }
});
