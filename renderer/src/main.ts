// The renderer's entry: mounts the app on #app with the transport for this environment.
import 'ol/ol.css';
import './app.css';
import { mount } from 'svelte';
import App from './App.svelte';
import { createTransport } from './transport.ts';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target, props: { api: createTransport() } });
