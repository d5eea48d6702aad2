// The account page: until the person has chosen a time zone (the server marks the
// select `data-browser-zone`), select the browser's own zone and show the hint that
// says so. The hint's text is the page's, in the person's language.
const select = document.querySelector("select[data-browser-zone]");
const zone = select ? Intl.DateTimeFormat().resolvedOptions().timeZone : "";
const option = zone
  ? Array.from(select.options).find((candidate) => candidate.value === zone)
  : null;
if (option && !option.selected) {
  option.selected = true;
  const hint = document.getElementById(select.id + "-browser");
  if (hint) {
    hint.hidden = false;
    const described = select.getAttribute("aria-describedby");
    select.setAttribute("aria-describedby", described ? `${described} ${hint.id}` : hint.id);
  }
}
