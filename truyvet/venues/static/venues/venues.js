// "Use my location": fills the latitude and longitude fields from the phone's GPS.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-geolocate]");
  if (!button) return;
  event.preventDefault();
  const form = button.closest("form");
  const status = form.querySelector(".geo-status");
  const say = (text) => { if (status) status.textContent = text; };
  if (!("geolocation" in navigator)) { say(button.dataset.unsupported); return; }
  say(button.dataset.waiting);
  navigator.geolocation.getCurrentPosition(
    (position) => {
      form.querySelector("[name=latitude]").value = position.coords.latitude.toFixed(6);
      form.querySelector("[name=longitude]").value = position.coords.longitude.toFixed(6);
      say(button.dataset.done.replace("{m}", Math.round(position.coords.accuracy)));
    },
    () => say(button.dataset.denied),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
});
