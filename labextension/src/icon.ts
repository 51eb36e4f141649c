import { LabIcon } from '@jupyterlab/ui-components';

// A rocket: the body (with a round window), two fins and the flame. `jp-icon3` lets the
// light and dark themes recolour it.
const ROCKET = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path fill-rule="evenodd" d="M12 1.5c3.3 2.4 5 6 5 10.1 0 1.6-.3 3.1-.8 4.4H7.8c-.5-1.3-.8-2.8-.8-4.4 0-4.1 1.7-7.7 5-10.1zm0 6.3a2 2 0 1 0 0 4 2 2 0 0 0 0-4z"/>
    <path d="M7.3 12.4 4 15.8v4l4.3-2.5c-.5-1.5-.9-3.2-1-4.9z"/>
    <path d="M16.7 12.4 20 15.8v4l-4.3-2.5c.5-1.5.9-3.2 1-4.9z"/>
    <path d="M9.8 17h4.4l-.7 2.6L12 22.5l-1.5-2.9z"/>
  </g>
</svg>`;

export const rocketIcon = new LabIcon({
  name: 'jupyter-ack:rocket',
  svgstr: ROCKET
});
