// Runs first, before any other script and any API request: a token given as `/?token=...`
// (as `make run` prints) moves into this tab's sessionStorage and out of the address, so it is
// neither kept in the history nor sent anywhere in a URL. (The page's Referrer-Policy keeps
// the first address out of the requests the browser makes before this runs.)
(() => {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (!given) return;
  sessionStorage.setItem("carepath.token", given);
  url.searchParams.delete("token");
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
})();
