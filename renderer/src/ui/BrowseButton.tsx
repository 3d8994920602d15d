// In the desktop app, path arguments must lie in folders the user chose in a native dialog (the backend
// only allows those roots), so every folder/file field gets a Browse button there. Web mode has no native
// dialog: paths are typed, and the server's --root flags decide what is allowed.
import { useApp, useController } from '../state/context.js';

export function BrowseButton(props: {
  kind: 'folder' | 'file';
  title: string;
  extensions?: string[];
  onPick: (path: string) => void;
}) {
  const c = useController();
  const mode = useApp((s) => s.appInfo?.mode);
  if (mode !== 'electron') return null;
  const pick = async () => {
    const res =
      props.kind === 'folder'
        ? await c.api.app.pickFolder({ title: props.title })
        : await c.api.app.pickFile({
            title: props.title,
            ...(props.extensions ? { extensions: props.extensions } : {}),
          });
    if (res.ok && res.value.path) props.onPick(res.value.path);
  };
  return (
    <button type="button" className="ghost" onClick={() => void pick()}>
      Browse…
    </button>
  );
}
