// jupyter-ack: the JupyterLab sidebar of ACK pipelines and their runs, and the run view.

import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { AckApi } from './api';
import { StreamHub } from './hub';
import { rocketIcon } from './icon';
import { RunNotifier } from './notifier';
import { RunView } from './runview';
import { runViewId } from './runinfo';
import { AckSidebar, SIDEBAR_ID, SidebarSettings } from './sidebar';
import { StreamClient } from './stream';

const PLUGIN_ID = 'jupyter-ack:sidebar';

namespace CommandIDs {
  export const openRun = 'jupyter-ack:open-run';
  export const showSidebar = 'jupyter-ack:show-sidebar';
  export const refresh = 'jupyter-ack:refresh';
}

interface Settings extends SidebarSettings {
  notifications: boolean;
}

const DEFAULTS: Settings = {
  defaultContext: '',
  defaultNamespace: '',
  live: true,
  notifications: true
};

function readSettings(settings: ISettingRegistry.ISettings | null): Settings {
  if (!settings) {
    return { ...DEFAULTS };
  }
  const get = <K extends keyof Settings>(key: K): Settings[K] => {
    const value = settings.get(key).composite;
    return (
      typeof value === typeof DEFAULTS[key] ? value : DEFAULTS[key]
    ) as Settings[K];
  };
  return {
    defaultContext: get('defaultContext'),
    defaultNamespace: get('defaultNamespace'),
    live: get('live'),
    notifications: get('notifications')
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The pipelines and runs of a namespace (ACK SageMaker), live, with a run view.',
  autoStart: true,
  optional: [ISettingRegistry, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const api = new AckApi();
    const hub = new StreamHub(
      key =>
        new StreamClient({
          url: () => api.streamUrl(key.namespace, key.context)
        })
    );
    let settings: Settings = { ...DEFAULTS };
    // run views restored before the settings are read wait for them to go live
    let settingsLoaded = false;
    const tracker = new WidgetTracker<MainAreaWidget<RunView>>({
      namespace: 'jupyter-ack-run'
    });

    const openRun = (
      context: string,
      namespace: string,
      name: string
    ): void => {
      const id = runViewId(namespace, name);
      const open = tracker.find(w => w.id === id);
      if (open) {
        app.shell.activateById(id);
        return;
      }
      const content = new RunView({
        api,
        hub,
        context,
        namespace,
        name,
        live: settingsLoaded && settings.live,
        watcher: notifier,
        openRun,
        onTheme: t => sidebar.setTheme(t)
      });
      const widget = new MainAreaWidget({ content });
      widget.id = id;
      widget.addClass('jp-ack-run-widget');
      widget.title.label = name;
      widget.title.caption = `${namespace}/${name}${context ? ` (${context})` : ''}`;
      widget.title.icon = rocketIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
      app.shell.activateById(id);
    };

    const notifier = new RunNotifier(hub, openRun);
    const sidebar = new AckSidebar({
      api,
      hub,
      settings,
      openRun
    });
    sidebar.title.icon = rocketIcon;
    sidebar.title.caption = 'ACK pipelines';
    sidebar.title.label = '';
    sidebar.node.setAttribute('aria-label', 'ACK pipelines');
    app.shell.add(sidebar, 'left', { rank: 850 });

    app.commands.addCommand(CommandIDs.openRun, {
      label: args =>
        args.name ? `Open run ${String(args.name)}` : 'Open ACK run',
      caption: 'Open the view of a pipeline run',
      execute: args => {
        const namespace = String(
          args.namespace ?? sidebar.currentNamespace ?? ''
        );
        const name = String(args.name ?? '');
        if (namespace && name) {
          openRun(
            String(args.context ?? sidebar.currentContext ?? ''),
            namespace,
            name
          );
        }
      }
    });
    app.commands.addCommand(CommandIDs.showSidebar, {
      label: 'Show ACK pipelines',
      icon: rocketIcon,
      execute: () => app.shell.activateById(SIDEBAR_ID)
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh ACK pipelines',
      execute: () => sidebar.refresh()
    });
    palette?.addItem({
      command: CommandIDs.showSidebar,
      category: 'ACK pipelines'
    });
    palette?.addItem({
      command: CommandIDs.refresh,
      category: 'ACK pipelines'
    });

    if (restorer) {
      restorer.add(sidebar, SIDEBAR_ID);
      void restorer.restore(tracker, {
        command: CommandIDs.openRun,
        args: w => ({
          context: w.content.context,
          namespace: w.content.namespace,
          name: w.content.runName
        }),
        name: w => w.id
      });
    }

    const apply = (next: Settings): void => {
      settings = next;
      settingsLoaded = true;
      sidebar.configure(next);
      notifier.configure({ enabled: next.notifications, live: next.live });
      tracker.forEach(w => w.content.setLive(next.live));
    };

    // settings and the first load run after activation: activate must not wait for
    // app.restored (the shell restores only once every plugin is active)
    const loadSettings = async (): Promise<void> => {
      if (!registry) {
        apply(settings);
        return;
      }
      try {
        const loaded = await registry.load(PLUGIN_ID);
        apply(readSettings(loaded));
        loaded.changed.connect(() => apply(readSettings(loaded)));
      } catch (err) {
        console.warn('jupyter-ack: could not load the settings', err);
        apply(settings);
      }
    };
    void Promise.all([loadSettings(), app.restored]).then(() =>
      sidebar.start()
    );
  }
};

export default plugin;
