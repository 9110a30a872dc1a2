"use strict";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("login-error", null);
  try {
    const s = await api("POST", "/session", {
      username: document.getElementById("username").value, password: document.getElementById("password").value });
    location.href = s.role === "admin" ? "/admin" : "/agent";
  } catch (e) { showError("login-error", e); }
});
